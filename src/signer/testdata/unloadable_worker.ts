// A signer worker whose module fails while loading, before it can report anything itself: the
// pool must notice through the worker's error event. Used by pool.test.ts in a child process.
throw new Error("unloadable worker failed to load on purpose");
