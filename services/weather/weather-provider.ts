// Where the weather tool gets its answers. The shipped provider answers from climate normals;
// a provider backed by a live weather service implements the same interface.

export interface Place {
  name: string;
  country: string;
  /** Where the provider's data for this place comes from. */
  source: string;
}

/** One calendar day. Temperatures in °C, precipitation in mm. */
export interface DayWeather {
  /** YYYY-MM-DD */
  date: string;
  high: number;
  low: number;
  mean: number;
  /** Expected precipitation that day. */
  precipitation: number;
  /** Chance of a day with rain, from 0 to 1. */
  rainChance: number;
  conditions: string;
}

/** A calendar month as a whole. */
export interface MonthWeather {
  /** 1 to 12 */
  month: number;
  high: number;
  low: number;
  mean: number;
  /** Total precipitation in the month. */
  precipitation: number;
  rainyDays: number;
  rainChance: number;
  conditions: string;
}

export interface WeatherProvider {
  readonly name: string;
  /** "climatology": long-term averages for the date; "observed": live data. */
  readonly basis: "climatology" | "observed";
  /** One sentence telling callers how to read the answers. */
  readonly note: string;
  /** Finds a place; throws NOT_FOUND (with close matches) when it does not know it. */
  resolve(city: string): Place;
  /** Known places, for callers choosing one. */
  places(): Place[];
  day(place: Place, date: string): Promise<DayWeather>;
  month(place: Place, month: number): Promise<MonthWeather>;
}
