// The documents the language client hands to the server: each languageId the server serves
// (languages.json, the output of `ladder-lsp languages`), in files on disk and untitled editors.
import served from '../languages.json';

/** Files on disk and untitled editors, not output channels or the `git:` side of a diff. */
const SCHEMES = ['file', 'untitled'] as const;

export interface DocumentFilter {
  scheme: (typeof SCHEMES)[number];
  language: string;
}

const SERVED_LANGUAGES: readonly string[] = served.languages;

export const DOCUMENT_SELECTOR: readonly DocumentFilter[] = SERVED_LANGUAGES.flatMap((language) =>
  SCHEMES.map((scheme) => ({ scheme, language })),
);
