# A Perl workload that does nothing but stay alive.
sleep 3600 while 1;
