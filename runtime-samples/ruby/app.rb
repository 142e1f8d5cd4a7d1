# A Ruby workload that does nothing but stay alive.
loop { sleep 3600 }
