/** What a consistent verdict covers, stated in every result and in `drctl check es --help`. Cheap to import. */
export const ES_COMPARED =
  'per index: mappings, the settings that change storage or search, _count, and every document by id (or --id-field) with its routing and its whole _source (key order ignored; numbers in numeric fields by exact decimal value, elsewhere by exact text; strings by exact code units). ' +
  'Not compared: values left out of _source (disabled, includes/excludes: reported unverified), aliases, templates, ILM/ISM policies, index settings not listed as significant, closed or hidden indices matched only by a wildcard (warned). ' +
  'Incremental (--since): contents inside the window, ids (and routing) outside it.';
