// sheetsync's module for other sites' pages: <sheetsync-progress>, <sheetsync-badge>, connect().
// (Filled in by the next commit; served at /sheetsync.js.)
export {};
