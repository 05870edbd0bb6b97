import type { DetectorDefinition } from '../detector';

// PLACEHOLDER: being implemented (see anomalies.md); reports nothing yet.
export const requestAfterCloseNotice: DetectorDefinition = {
  id: 'request-after-close-notice',
  meta: { description: 'not implemented yet', severity: 'warning', messages: {} },
  create: () => ({}),
};
