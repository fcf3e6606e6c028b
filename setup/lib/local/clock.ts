// The rehearsal clock: ECS's and the load balancer's timers (health check
// interval and timeout, grace period, deregistration delay, stop timeout) run
// REHEARSAL_SPEEDUP times faster than the template says, so a rollout takes
// seconds instead of minutes; every count and threshold stays the template's.
// Two floors keep a busy machine (builds, other tasks) from failing what AWS
// would pass: a container does not start or answer any faster than it does.

/** Seconds of AWS time per second of rehearsal time. */
export const REHEARSAL_SPEEDUP = 10;

/**
 * CloudWatch's clock in the rehearsal (lesson 07): an alarm's 60 s period
 * lasts 3 s, so "2 of 3 periods" takes seconds. Faster than ECS's, because a
 * period only counts requests and compares a statistic: nothing in it has to
 * start or answer faster than it does. Response times are measured, never
 * scaled: a 2 s request is 2 s against the alarm's 1 s threshold. Not faster
 * than this: a period shorter than the lesson's 2 s requests would often hold
 * none of them, and the alarm would flap between its periods.
 */
export const CLOUDWATCH_SPEEDUP = 20;

/** Rehearsal milliseconds for AWS seconds, at `speedup` (1 runs them as written). */
export const scaled = (seconds: number, speedup: number): number => Math.max(1, Math.round((seconds * 1000) / speedup));

/** The shortest health check timeout: a slow answer on a busy machine must not count as a failed check. */
export const MIN_CHECK_TIMEOUT_MS = 1_000;

/** The shortest grace period a new task gets: one slow to start on a busy machine is not counted failed. */
export const MIN_GRACE_MS = 2_000;

/**
 * The shortest a deregistering target drains (never longer than the template's
 * delay): requests are not faster in the rehearsal, so a scaled delay (10 s
 * becomes 1 s) would cut a 1.5 s request the ALB lets finish. Draining ends as
 * soon as no request is in flight, so the floor costs nothing otherwise.
 */
export const MIN_DRAIN_MS = 5_000;
