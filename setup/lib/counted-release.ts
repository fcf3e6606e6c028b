// A release followed while the traffic counter keeps calling the app's /time
// at its current URL, ending with what users saw: steps 05 and 06.
import type { CurrentSource } from "./aws/source.ts";
import type { RunContext } from "./context.ts";
import { trafficLine, watchTraffic } from "./traffic.ts";
import type { Release } from "../targets/target.ts";

/** Releases `source` and says how many requests failed meanwhile; throws what the release throws. */
export async function releaseCounted(ctx: RunContext, source: CurrentSource, bucket: string): Promise<Release> {
  const { ui, target, state } = ctx;
  const url = `${state.appUrl}/time`;
  const traffic = watchTraffic(url);
  try {
    return await target.release(ctx, { source, bucket, loadBalancerUrl: state.loadBalancerUrl });
  } finally {
    const seen = await traffic.stop();
    const line = trafficLine(url, seen);
    if (seen.failed === 0) ui.ok(`${line}: users saw no failure.`);
    else ui.warn(`${line}.`);
  }
}
