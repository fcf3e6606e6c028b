// An image recipe: how `npm run images` builds one image the rehearsal runs,
// when no registry offers it. Each stand-in's recipe lives in the folder of
// the service it stands in for; images/index.ts collects them.

export interface BuildContext {
  /** Scratch space for root filesystems, build contexts and logs. */
  readonly workDir: string;
  readonly log: (line: string) => void;
  /** The Node base image, for recipes built on it. */
  readonly base: string;
}

export interface ImageRecipe {
  /** Bumped whenever the recipe changes, so that older local builds of it are rebuilt. */
  readonly version: string;
  /** Built from Debian with debootstrap (needs root), not on the Node base. */
  readonly fromScratch: boolean;
  /** Builds `image`; resolves with what it built, for the progress line (e.g. "moto 5.1.1 from Debian trixie"). */
  build(image: string, context: BuildContext): Promise<string>;
}
