// The local AWS emulator (moto) in a container, published on 127.0.0.1 only,
// as a testcontainers-style module pair: MotoContainer says what to start,
// StartedMotoContainer owns what a client needs to talk to it (endpoint,
// region, credentials, account id) and stops it.
import { Wait } from "testcontainers";
import { type AwsSettings, EMULATOR_REGION } from "../../config.ts";
import { startContainer } from "../engine/containers.ts";

/** The port moto_server listens on in its container (emulator/image.ts starts it there). */
export const MOTO_PORT = 5000;

/** The account id moto answers with (GetCallerIdentity, ARNs). */
export const EMULATOR_ACCOUNT_ID = "123456789012";

export interface Emulator {
  /** e.g. http://127.0.0.1:32768 — give it to the client factory as the endpoint. */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** The AwsSettings every client for this emulator is made from (the factory adds fixed test credentials). */
  readonly aws: AwsSettings;
}

export class StartedMotoContainer implements Emulator {
  readonly endpoint: string;
  readonly region: string;
  readonly accountId = EMULATOR_ACCOUNT_ID;
  readonly containerId: string;
  private readonly stopper: () => Promise<void>;

  constructor(endpoint: string, region: string, containerId: string, stop: () => Promise<void>) {
    this.endpoint = endpoint;
    this.region = region;
    this.containerId = containerId;
    this.stopper = stop;
  }

  get aws(): AwsSettings {
    return Object.freeze({ region: this.region, endpoint: this.endpoint });
  }

  /** Safe to call more than once: a test may stop it early, the fixture always does. */
  stop(): Promise<void> {
    return this.stopper();
  }
}

export class MotoContainer {
  private readonly image: string;
  private runId = "aws-cicd-lab";
  private labels: Record<string, string> = {};
  private region = EMULATOR_REGION;

  constructor(image: string) {
    this.image = image;
  }

  /** The run that owns the container (its label), so leftovers of dead runs can be found. */
  withRunId(runId: string): this {
    this.runId = runId;
    return this;
  }

  withLabels(labels: Record<string, string>): this {
    this.labels = { ...this.labels, ...labels };
    return this;
  }

  withRegion(region: string): this {
    this.region = region;
    return this;
  }

  async start(): Promise<StartedMotoContainer> {
    const container = await startContainer({
      image: this.image,
      port: MOTO_PORT,
      runId: this.runId,
      labels: this.labels,
      // Werkzeug says so once its socket listens: no polling (an HTTP wait polls once a second).
      wait: Wait.forLogMessage("Running on"),
      stopTimeoutMs: 2_000,
    });
    return new StartedMotoContainer(container.url, this.region, container.id, () => container.stop());
  }

  /** An emulator already running at `endpoint` (a rehearsal's, found by its label, or AWS_ENDPOINT_URL). */
  static at(endpoint: string, region: string = EMULATOR_REGION): Emulator {
    return { endpoint, region, accountId: EMULATOR_ACCOUNT_ID, aws: Object.freeze({ region, endpoint }) };
  }
}
