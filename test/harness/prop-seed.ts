import fc from 'fast-check';

// Every property runs from one fixed seed, so CI is repeatable and a failure
// names the seed to rerun (fast-check prints it). Hunt further with
// DRCTL_PROP_SEED=<n> (and DRCTL_PROP_RUNS=<n> to raise numRuns).
// A test that passes its own seed keeps it.
const seed = Number(process.env.DRCTL_PROP_SEED ?? 20_261_130);
const runs = process.env.DRCTL_PROP_RUNS ? Number(process.env.DRCTL_PROP_RUNS) : undefined;
fc.configureGlobal({ seed, ...(runs ? { numRuns: runs } : {}) });
