// The shipped climate normals (data/climate-normals.json): loaded and checked once, looked up by
// city name with accents, case and spacing ignored.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { editDistance } from "./edit-distance";

export const defaultDatasetPath = fileURLToPath(
  new URL("./data/climate-normals.json", import.meta.url),
);

export interface CityNormals {
  name: string;
  country: string;
  aliases: string[];
  /** Where the values were taken from. */
  source: string;
  /** Twelve values each, January first. */
  high_c: number[];
  low_c: number[];
  precip_mm: number[];
  rainy_days: number[];
}

export interface ClimateDataset {
  cities: CityNormals[];
  attribution: string;
  licence: string;
  find(name: string): CityNormals | undefined;
  /** Up to `limit` known names closest to `name`, best first. */
  suggest(name: string, limit?: number): string[];
}

/** "São Paulo " → "sao paulo" */
export const normaliseName = (name: string) =>
  name
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();

function checkCity(raw: unknown, index: number): CityNormals {
  const where = `city #${index + 1}`;
  if (typeof raw !== "object" || raw === null) throw new Error(`${where} is not an object`);
  const c = raw as Record<string, unknown>;
  if (typeof c.name !== "string" || c.name === "") throw new Error(`${where} has no name`);
  const months = (key: string) => {
    const v = c[key];
    if (
      !Array.isArray(v) ||
      v.length !== 12 ||
      !v.every((n) => typeof n === "number" && Number.isFinite(n))
    ) {
      throw new Error(`${c.name}: "${key}" must be 12 numbers, January first`);
    }
    return v as number[];
  };
  const city: CityNormals = {
    name: c.name,
    country: typeof c.country === "string" ? c.country : "",
    aliases: Array.isArray(c.aliases)
      ? c.aliases.filter((a): a is string => typeof a === "string")
      : [],
    source: typeof c.source === "string" ? c.source : "",
    high_c: months("high_c"),
    low_c: months("low_c"),
    precip_mm: months("precip_mm"),
    rainy_days: months("rainy_days"),
  };
  city.high_c.forEach((high, m) => {
    if (high < (city.low_c[m] ?? high))
      throw new Error(`${c.name}: month ${m + 1} has high below low`);
  });
  return city;
}

export function parseClimateDataset(text: string): ClimateDataset {
  const doc = JSON.parse(text) as { cities?: unknown; attribution?: unknown; licence?: unknown };
  if (!Array.isArray(doc.cities) || doc.cities.length === 0) throw new Error('no "cities" array');
  const cities = doc.cities.map(checkCity);
  const byName = new Map<string, CityNormals>();
  for (const city of cities) {
    for (const name of [city.name, ...city.aliases]) byName.set(normaliseName(name), city);
  }
  return {
    cities,
    attribution: typeof doc.attribution === "string" ? doc.attribution : "",
    licence: typeof doc.licence === "string" ? doc.licence : "",
    find: (name) => byName.get(normaliseName(name)),
    suggest(name, limit = 3) {
      const wanted = normaliseName(name);
      // Allow roughly one typo per three letters, and at least two.
      const tolerance = Math.max(2, Math.floor(wanted.length / 3));
      const best = new Map<string, number>();
      for (const [known, city] of byName) {
        const d = editDistance(wanted, known);
        if (d <= tolerance && d < (best.get(city.name) ?? Number.POSITIVE_INFINITY))
          best.set(city.name, d);
      }
      return [...best.entries()]
        .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
        .slice(0, limit)
        .map(([n]) => n);
    },
  };
}

/** Reads and checks the dataset; the error names the file and the bad entry. */
export function loadClimateDataset(path = defaultDatasetPath): ClimateDataset {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read climate dataset ${path}: ${(err as Error).message}`);
  }
  try {
    return parseClimateDataset(text);
  } catch (err) {
    throw new Error(`climate dataset ${path} is invalid: ${(err as Error).message}`);
  }
}
