export { mysqlChecker, runMysqlCheck, type TableSummary } from './checker.js';
export { mysqlOptionsSchema, type MysqlOptions, type MysqlOptionsInput } from './options.js';
