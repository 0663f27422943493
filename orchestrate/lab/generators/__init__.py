"""Generated flow events: realistic ones with injected anomalies and their ground truth
(flowgen), and the sample seed (sample_data)."""
