{#- The epoch seconds of the first and the last instant PostgreSQL's timestamps place on a day in
    every time zone (4713-01-01 BC and 294275-12-31 AD, both 00:00 UTC): a time column of epoch
    seconds outside them gives no instant (event_time_to_timestamptz). -#}
{% macro placeable_epoch_seconds() %}
    {%- do return([-210863520000, 9224286307200]) -%}
{% endmacro %}
