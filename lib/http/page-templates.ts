/**
 * The pages' texts and look, from what ships (English, and page-texts/<language>.json) and what an
 * operator puts in PAGES_DIR: `theme.json` (`productName`, `logoUrl`, `colors.text`,
 * `colors.background`, `colors.accent`, `language`) and `<language>.json` (texts by their English
 * original, over the shipped ones). Read once when the gateway starts; a file that is not what it
 * should be stops the start with a message naming it, never a page that breaks later.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
	createPages,
	DEFAULT_THEME,
	translator,
	type PageTheme,
	type Pages
} from "./page-rendering";
import french from "./page-texts/fr.json";

/** The texts the project ships, by language (English is the pages' own). */
const SHIPPED: Record<string, Record<string, string>> = { en: {}, fr: french };
export const SHIPPED_LANGUAGES = Object.keys(SHIPPED);
const COLOR = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

function readJson(file: string): unknown {
	try {
		return JSON.parse(readFileSync(file, "utf8"));
	} catch (err) {
		throw new Error(`${file} is not a JSON file: ${(err as Error).message}`);
	}
}

function texts(file: string): Record<string, string> {
	if (!existsSync(file)) return {};
	const value = readJson(file);
	const ok =
		value !== null &&
		typeof value === "object" &&
		Object.values(value).every(text => typeof text === "string");
	if (!ok) throw new Error(`${file} must map English texts to translations, strings only`);
	return value as Record<string, string>;
}

/** The theme: the default, with what PAGES_DIR/theme.json and PAGES_LANGUAGE change. */
export function themeOf(dir: string | null, language: string | null): PageTheme {
	const file = dir && join(dir, "theme.json");
	const given = (file && existsSync(file) ? readJson(file) : {}) as Partial<PageTheme> & {
		colors?: Partial<PageTheme["colors"]>;
	};
	const theme: PageTheme = {
		language: language || given.language || DEFAULT_THEME.language,
		productName: given.productName ?? null,
		logoUrl: given.logoUrl ?? null,
		colors: { ...DEFAULT_THEME.colors, ...given.colors }
	};
	if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/.test(theme.language)) {
		throw new Error(
			`The pages' language '${theme.language}' is not a language tag (e.g. en, fr)`
		);
	}
	for (const [name, color] of Object.entries(theme.colors)) {
		if (!COLOR.test(color))
			throw new Error(`theme.json: colors.${name} must be #rgb or #rrggbb`);
	}
	if (theme.logoUrl !== null && !/^https:\/\/[^\s"'<>]+$/.test(theme.logoUrl)) {
		throw new Error("theme.json: logoUrl must be an https:// URL");
	}
	if (theme.productName !== null && typeof theme.productName !== "string") {
		throw new Error("theme.json: productName must be a string");
	}
	return theme;
}

/** The pages in the theme's language: shipped texts, then the operator's over them. */
export function loadPageTemplates(
	dir: string | null,
	language: string | null
): { theme: PageTheme; pages: Pages } {
	const theme = themeOf(dir, language);
	const dictionary = {
		...SHIPPED[theme.language],
		...(dir ? texts(join(dir, `${theme.language}.json`)) : {})
	};
	return { theme, pages: createPages(translator(dictionary)) };
}
