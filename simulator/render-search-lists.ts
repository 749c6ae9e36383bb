/** The dynamic search list list (`DYNAMIC_SEARCH_LIST_OUTPUT`); not paged, DYNAMIC_LISTS absent when empty. */
import { XML_GARBAGE, xmlHead, xmlTail, type BodyProducer, type RenderContext } from './body-producer.js';
import type { ChunkWriter } from './chunk-writer.js';
import { formatEpochSeconds } from './clock.js';
import type { Dataset } from './dataset.js';
import { cdata } from './escape.js';
import { inRanges, parseIntRanges } from './int-ranges.js';
import { echoRequestXml } from './render-echo.js';
import type { Params } from './request-params.js';
import type { SearchList } from './search-lists.js';

export const SEARCH_LIST_PARAMS: ReadonlySet<string> = new Set([
  'action', 'echo_request', 'ids', 'show_qids', 'show_option_profiles', 'show_distribution_groups',
  'show_report_templates', 'show_remediation_policies',
]);

interface Selection {
  readonly lists: readonly SearchList[];
  readonly showQids: boolean;
  readonly echo: boolean;
}

export class SearchListProducer implements BodyProducer {
  private readonly selection: Selection;

  /** Validates the request; rendering waits for `step` so faults decided later still apply. */
  constructor(
    private readonly dataset: Dataset,
    private readonly params: Params,
    private readonly ctx: RenderContext,
  ) {
    params.requireListAction(SEARCH_LIST_PARAMS);
    const idsValue = params.get('ids');
    const ids = idsValue ? parseIntRanges('ids', idsValue) : null;
    for (const flag of ['show_option_profiles', 'show_distribution_groups', 'show_report_templates', 'show_remediation_policies']) params.flag(flag, false);
    this.selection = {
      lists: dataset.searchLists.filter((l) => !ids || inRanges(ids, l.id)),
      showQids: params.flag('show_qids', false),
      echo: params.flag('echo_request', false),
    };
  }

  step(w: ChunkWriter): boolean {
    w.utf8(render(this.dataset, this.params, this.ctx, this.selection));
    return false;
  }
}

function render(dataset: Dataset, params: Params, ctx: RenderContext, selection: Selection): string {
  const at = (ago: number) => formatEpochSeconds(dataset.anchorSec - ago);
  let s = xmlHead('DYNAMIC_SEARCH_LIST_OUTPUT', `${ctx.baseUrl}/api/2.0/fo/qid/search_list/dynamic/dynamic_search_list_output.dtd`, ctx.trial);
  if (selection.echo) s += echoRequestXml(ctx, params);
  s += `  <RESPONSE>\n    <DATETIME>${ctx.datetime}</DATETIME>\n`;
  if (selection.lists.length > 0) {
    s += '    <DYNAMIC_LISTS>\n';
    for (const l of selection.lists) {
      s +=
        `      <DYNAMIC_LIST>\n        <ID>${l.id}</ID>\n        <TITLE>${cdata(l.title)}</TITLE>\n` +
        `        <GLOBAL>${cdata(l.global ? 'Yes' : 'No')}</GLOBAL>\n        <OWNER>${cdata(l.owner)}</OWNER>\n` +
        `        <CREATED>${at(l.createdAgo)}</CREATED>\n        <MODIFIED_BY>${cdata(l.owner)}</MODIFIED_BY>\n` +
        `        <MODIFIED>${at(l.modifiedAgo)}</MODIFIED>\n`;
      if (selection.showQids && l.qids.length > 0) s += `        <QIDS>\n${l.qids.map((q) => `          <QID>${q}</QID>\n`).join('')}        </QIDS>\n`;
      s += `        <CRITERIA>\n          <VULNERABILITY_FILTER>${cdata(l.criteria)}</VULNERABILITY_FILTER>\n        </CRITERIA>\n      </DYNAMIC_LIST>\n`;
    }
    s += '    </DYNAMIC_LISTS>\n';
  }
  if (ctx.malformed) s += XML_GARBAGE;
  return s + `  </RESPONSE>\n${xmlTail('DYNAMIC_SEARCH_LIST_OUTPUT', ctx.trial)}`;
}
