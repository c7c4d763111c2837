export { esChecker } from './checker.js';
export { esOptionsSchema, type EsOptions } from './options.js';
