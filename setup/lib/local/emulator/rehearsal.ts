// The rehearsal's emulator: one per prefix, kept running between commands
// (like the registry) and reused while it answers.
import { rehearsalLabels, rehearsalRunId, reuseOrStart } from "../engine/rehearsal.ts";
import type { MotoContainer } from "./moto.ts";

/** The rehearsal's emulator: the running one for this prefix if it answers, else a new one from `moto`. */
export async function ensureEmulator(
  prefix: string,
  moto: MotoContainer,
): Promise<{ endpoint: string; reused: boolean }> {
  const { url, reused } = await reuseOrStart(
    prefix,
    "emulator",
    "/moto-api/",
    async () =>
      (await moto.withRunId(rehearsalRunId(prefix)).withLabels(rehearsalLabels(prefix, "emulator")).start()).endpoint,
  );
  return { endpoint: url, reused };
}
