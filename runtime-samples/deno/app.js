// A workload that does nothing but stay alive.
setInterval(() => {}, 1 << 30);
