/** The library API: analyze captures from code. */
export { Analyzer, analyzeFiles } from './analyze';
export type { AnalysisResult, AnalysisStats, AnalyzeOptions, InputSummary } from './analyze';
export type { FlowRecord } from './flow/flow-record';
export type { HttpExchange } from './http/exchange';
export type { AnomalyKind, Diagnosis, Finding, Severity } from './detect/finding';
export { DETECTORS } from './detect/registry';
export { CaptureError } from './source/capture-error';
export { readCapture, readCaptureStream } from './source/open-capture';
