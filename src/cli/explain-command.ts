import { analyzeFiles } from '../analyze';
import { wantsColour } from '../report/ansi';
import { renderFindingExplanation, renderFlowExplanation } from '../report/explain';
import { checkCommonArgs } from './analyze-command';
import { EXIT_OK } from './exit-codes';
import { buildFilter, FilterArgs } from './filters';
import { ladderOfFlow, laddersOfFindings } from './ladders';
import { parseIgnore, UsageError } from './output';

export interface ExplainArgs extends Omit<FilterArgs, 'flow'> {
  /** One capture file, or several read as one capture as analyze reads them (finding ids are those of their analysis). */
  files: string[];
  /** A finding id ("keepalive-race#1") or a flow id ("12"). */
  id: string;
  ignore: string[];
  idleTimeout: number;
  maxConnections: number;
  sample: number;
}

const FINDING_ID = /^[a-z0-9-]+#\d+$/;
const FLOW_ID = /^\d+$/;
/** Finding ids named in a "no such finding" message. */
const IDS_LISTED = 8;

/**
 * `conncheck explain FILE... ID`: the ladder diagram of a finding's connection, or of a flow.
 * The files are read twice (analysis, then the connection's packets), so stdin is refused.
 * Several files (a rotated capture) are analyzed as `analyze` analyzes them, so the ids it printed hold.
 */
export async function runExplain(args: ExplainArgs): Promise<number> {
  process.stdout.write(await explainText(args, wantsColour(process.stdout, process.env)));
  return EXIT_OK;
}

/** The text `explain` prints; throws UsageError for a bad or unknown id. */
export async function explainText(args: ExplainArgs, colour: boolean): Promise<string> {
  if (args.files.length === 0) throw new UsageError('explain needs a capture file and a finding or flow id');
  if (args.files.includes('-')) throw new UsageError('explain reads the capture twice: give a file, not stdin (-)');
  const id = args.id.trim();
  const isFinding = FINDING_ID.test(id);
  if (!isFinding && !FLOW_ID.test(id)) {
    throw new UsageError(`'${args.id}' is neither a finding id (like keepalive-race#1) nor a flow id (a number, see analyze --flows)`);
  }
  checkCommonArgs(args);
  const files = args.files;
  const named = files.length === 1 ? files[0] : `these ${files.length} files`;
  const flowIds = isFinding ? [] : [Number(id)];
  if (!isFinding && !(flowIds[0] >= 1)) throw new UsageError(`'${args.id}' is no flow id: flow ids are whole numbers from 1 (see analyze --flows)`);
  const { filter } = buildFilter({ ...args, flow: [] });
  const result = await analyzeFiles(files, {
    ignore: parseIgnore(args.ignore),
    filter,
    flowIds,
    sample: args.sample,
    tracker: { idleTimeout: args.idleTimeout, maxConnections: args.maxConnections },
    collect: true,
  });
  if (isFinding) {
    const finding = result.anomalies.find((a) => a.id === id);
    if (!finding) {
      const known = result.anomalies.map((a) => a.id);
      const list = known.length === 0 ? 'it has no findings' : `its findings: ${known.slice(0, IDS_LISTED).join(', ')}${known.length > IDS_LISTED ? ', …' : ''}`;
      throw new UsageError(`no finding ${id} in ${named} (${list})`);
    }
    const ladders = (await laddersOfFindings(files, result, [finding])).get(finding.id) ?? [];
    return renderFindingExplanation(finding, ladders, result.diagnoses, { colour });
  }
  const flow = result.flows.find((f) => f.id === Number(id));
  if (!flow) {
    const n = result.stats.connections;
    throw new UsageError(`no flow ${id} in ${named} (it has ${n} connection${n === 1 ? '' : 's'}: see analyze --flows)`);
  }
  const ladder = await ladderOfFlow(files, result, flow);
  const findings = result.anomalies.filter((a) => a.flowId === flow.id);
  return renderFlowExplanation(ladder, findings, result.diagnoses, { colour });
}

/** Defaults of the analysis options, as the CLI gives them. */
export const EXPLAIN_DEFAULTS: Omit<ExplainArgs, 'files' | 'id'> = {
  ignore: [], idleTimeout: 900, maxConnections: 250_000, sample: 1, host: [], port: [], since: undefined, until: undefined,
};
