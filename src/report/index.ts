export * from './model.js';
export { buildReportModel, type BuildReportInput, type BuildReportOptions } from './build-model.js';
export { loadJournal, loadReportModel, type LoadedJournal } from './load-report.js';
export { compareReports } from './compare.js';
export { renderCompare } from './render-compare.js';
export { REPORT_FORMATS, parseReportFormat, renderReport, type ReportFormat } from './render-report.js';
