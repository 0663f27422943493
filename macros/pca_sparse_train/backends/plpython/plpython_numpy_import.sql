{#- The import of numpy in every PL/Python function of the project, BLAS on one thread. The first
    function to import numpy in a backend sets its threads for the backend's life: with OpenBLAS's
    default, one thread per core, the threads spin between calls on the cores that the build's
    other queries need (the residual scoring's statement 10.2-10.8 s of CPU against 8.1-8.8 s on
    one thread, the same wall time, the same scores bit for bit), and the project's matrices (an
    hour's days x users) are too small for threads to pay. A thread count the server's
    environment sets is kept. -#}
{% macro plpython_numpy_import() -%}
import os
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np
{%- endmacro %}
