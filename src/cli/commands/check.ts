import type { Command } from 'commander';
import { registerCheckMysql } from './check-mysql.js';
import { registerCheckS3 } from './check-s3.js';
import { registerCheckEs } from './check-es.js';
import { registerCheckRedis } from './check-redis.js';

/** `drctl check <kind>`: run one consistency checker directly (the DBA's entry point). */
export function registerCheckCommands(program: Command): void {
  const check = program
    .command('check')
    .description(
      'compare Main and DR copies: mysql, s3, es, redis (exit 0 consistent, 1 differences, 2 could not check)',
    );
  registerCheckMysql(check);
  registerCheckS3(check);
  registerCheckEs(check);
  registerCheckRedis(check);
}
