// Every label the project puts on its containers and images, in one place:
// what a later run, teardown or `npm run images` reads back to find them.

/** The run (process or rehearsal) that owns a container: leftovers of runs that are gone are removed. */
export const RUN_LABEL = "aws-cicd-lab.run";
/** The rehearsal prefix a container belongs to. */
export const REHEARSAL_LABEL = "aws-cicd-lab.rehearsal";
/** What a rehearsal container stands in for (emulator, registry, build, proxy, task). */
export const ROLE_LABEL = "aws-cicd-lab.role";
/** A task's task-definition revision (ECS). */
export const REVISION_LABEL = "aws-cicd-lab.task-revision";
/** The task definition a task was started from, as JSON (secrets as ARNs, never values): a rollback starts it again (ECS). */
export const TASK_DEFINITION_LABEL = "aws-cicd-lab.task-definition";
/** The revision the service was steady on when the deployment that started a task began (ECS). */
export const STABLE_REVISION_LABEL = "aws-cicd-lab.stable-revision";
/** The configuration a load balancer's proxy was started with (ELB). */
export const PROXY_CONFIG_LABEL = "aws-cicd-lab.haproxy-config";
/** The recipe version an image was built by (`npm run images`). */
export const RECIPE_LABEL = "aws-cicd-lab.recipe";
