/** The REQUEST element that `echo_request=1` adds before RESPONSE. */
import type { RenderContext } from './body-producer.js';
import { cdata, escapeXml } from './escape.js';
import type { Params } from './request-params.js';

export function echoRequestXml(ctx: RenderContext, params: Params): string {
  const list = params.entries
    .map(([k, v]) => `      <PARAM>\n        <KEY>${escapeXml(k)}</KEY>\n        <VALUE>${cdata(v)}</VALUE>\n      </PARAM>\n`)
    .join('');
  return (
    `  <REQUEST>\n    <DATETIME>${ctx.datetime}</DATETIME>\n    <USER_LOGIN>${escapeXml(ctx.userLogin)}</USER_LOGIN>\n` +
    `    <RESOURCE>${escapeXml(ctx.baseUrl + ctx.path)}</RESOURCE>\n    <PARAM_LIST>\n${list}    </PARAM_LIST>\n  </REQUEST>\n`
  );
}
