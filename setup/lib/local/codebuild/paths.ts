// Where CodeBuild puts things in a build container; the build stand-in and its image use the same paths.

/** Where CodeBuild puts the primary source (CODEBUILD_SRC_DIR). */
export const SOURCE_DIR = "/codebuild/output/src";
/** The build's shell state between commands (variables, working directory). */
export const STATE_DIR = "/codebuild/output/state";
/** The build image's unprivileged user. */
export const BUILD_UID = 1000;
