import type { DetectorDefinition } from '../detector';

// PLACEHOLDER: being implemented (see anomalies.md); reports nothing yet.
export const unansweredRequest: DetectorDefinition = {
  id: 'unanswered-request',
  meta: { description: 'not implemented yet', severity: 'warning', messages: {} },
  create: () => ({}),
};
