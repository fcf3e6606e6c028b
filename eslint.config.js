// ESLint (flat config): typescript-eslint with type information, so mistakes
// like an un-awaited promise are caught; formatting is left to Prettier.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".cache/", "code/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  // bin/ entry points: plain JavaScript (extensionless launchers, and launch.js, which tsc checks).
  {
    ...tseslint.configs.disableTypeChecked,
    files: ["bin/run", "bin/teardown", "bin/lesson", "bin/demo", "bin/doctor", "bin/images", "bin/launch.js"],
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", URL: "readonly" },
    },
  },
  { files: ["bench/*.mjs"], languageOptions: { globals: { process: "readonly", Buffer: "readonly" } } },
  prettier,
);
