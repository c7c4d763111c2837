export { s3Checker, runS3Check } from './checker.js';
export { s3OptionsSchema, resolveSince, type S3CheckOptions } from './options.js';
export { parseS3Url, type S3Location } from './s3-url.js';
