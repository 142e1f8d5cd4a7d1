// A Node.js workload that idles until stopped.
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
