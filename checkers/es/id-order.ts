/**
 * The order in which a cluster sorts documents, reproduced locally so that two sorted streams
 * can be merge-joined. Keyword fields sort by the unsigned bytes of their UTF-8 value, and so does
 * `_id` (its field data holds the decoded id, not the compact indexed form: measured on
 * OpenSearch 2.19 and Elasticsearch 7.17, where "10" < "100" < "14" < "7" < "AB11" < "acct 2/é").
 * The merge still checks that each stream really arrives in this order and stops otherwise.
 */
export function sortKeyBytes(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}
