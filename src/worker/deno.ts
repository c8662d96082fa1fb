// Placeholder until the edge worker lands (issue 4): says so and exits.
console.error("taugate: the worker is not built yet (see issue 4); `npm test` runs the test suite.");
Deno.exit(1);
