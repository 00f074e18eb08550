// Weather answers from monthly climate normals: what a day is usually like, not what it will be.
import { Code, ConnectError } from "@connectrpc/connect";
import type { CityNormals, ClimateDataset } from "./climate-dataset";
import type { DayWeather, MonthWeather, Place, WeatherProvider } from "./weather-provider";

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function describeConditions(high: number, rainChance: number): string {
  const warmth =
    high <= 0
      ? "freezing"
      : high <= 8
        ? "cold"
        : high <= 15
          ? "cool"
          : high <= 22
            ? "mild"
            : high <= 28
              ? "warm"
              : high <= 33
                ? "hot"
                : "very hot";
  const rain =
    rainChance < 0.1
      ? "usually dry"
      : rainChance < 0.25
        ? "occasional rain"
        : rainChance < 0.45
          ? "frequent showers"
          : "rain on most days";
  return `${warmth}, ${rain}`;
}

/**
 * A value for one day, interpolated between the normals of the two nearest months (each
 * month's normal stands for its middle day), so consecutive days change smoothly.
 */
function dailyValue(values: readonly number[], year: number, month: number, day: number): number {
  const length = daysInMonth(year, month);
  const middle = (length + 1) / 2;
  const offset = (day - middle) / length; // -0.5 .. 0.5 of a month from this month's middle
  const here = values[month - 1] ?? 0;
  const neighbourIndex = (month - 1 + (offset < 0 ? 11 : 1)) % 12;
  const neighbour = values[neighbourIndex] ?? here;
  return here + (neighbour - here) * Math.abs(offset);
}

export function createClimatologyProvider(dataset: ClimateDataset): WeatherProvider {
  const cityOf = new Map<string, CityNormals>(dataset.cities.map((c) => [c.name, c]));
  const placeOf = (c: CityNormals): Place => ({
    name: c.name,
    country: c.country,
    source: c.source,
  });
  const normals = (place: Place) => {
    const city = cityOf.get(place.name);
    if (!city) throw new ConnectError(`unknown city "${place.name}"`, Code.NotFound);
    return city;
  };

  return {
    name: "climatology",
    basis: "climatology",
    note: "Climatological normals for the date (long-term averages), not a live observation or forecast.",
    resolve(name) {
      const city = dataset.find(name);
      if (city) return placeOf(city);
      const close = dataset.suggest(name);
      throw new ConnectError(
        `unknown city "${name}"${close.length > 0 ? `; did you mean ${close.map((c) => `"${c}"`).join(", ")}?` : ""} (${dataset.cities.length} cities are known; operation "cities" lists them)`,
        Code.NotFound,
      );
    },
    places: () => dataset.cities.map(placeOf),
    async day(place, date) {
      const city = normals(place);
      const [year, month, day] = date.split("-").map(Number) as [number, number, number];
      const high = dailyValue(city.high_c, year, month, day);
      const low = dailyValue(city.low_c, year, month, day);
      const length = daysInMonth(year, month);
      const rainChance = Math.min(1, dailyValue(city.rainy_days, year, month, day) / length);
      return {
        date,
        high: round1(high),
        low: round1(low),
        mean: round1((high + low) / 2),
        precipitation: round1(dailyValue(city.precip_mm, year, month, day) / length),
        rainChance: round2(rainChance),
        conditions: describeConditions(high, rainChance),
      } satisfies DayWeather;
    },
    async month(place, month) {
      const city = normals(place);
      const i = month - 1;
      const high = city.high_c[i] ?? 0;
      const low = city.low_c[i] ?? 0;
      const rainyDays = city.rainy_days[i] ?? 0;
      // A non-leap year: the chance of rain is a long-run average, not tied to one year.
      const rainChance = Math.min(1, rainyDays / daysInMonth(2001, month));
      return {
        month,
        high,
        low,
        mean: round1((high + low) / 2),
        precipitation: city.precip_mm[i] ?? 0,
        rainyDays,
        rainChance: round2(rainChance),
        conditions: describeConditions(high, rainChance),
      } satisfies MonthWeather;
    },
  };
}
