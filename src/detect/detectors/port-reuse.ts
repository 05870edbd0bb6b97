import type { DetectorDefinition } from '../detector';

// PLACEHOLDER: being implemented (see anomalies.md); reports nothing yet.
export const portReuse: DetectorDefinition = {
  id: 'port-reuse',
  meta: { description: 'not implemented yet', severity: 'warning', messages: {} },
  create: () => ({}),
};
