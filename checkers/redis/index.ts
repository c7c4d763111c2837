export { redisChecker, runRedisCheck } from './checker.js';
export { redisOptionsSchema, type RedisOptions } from './options.js';
