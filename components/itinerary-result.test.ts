import { describe, expect, it } from "vitest";
import { type DayClimate, packingList, planDay } from "../services/itinerary/activity-planner";
import {
  formatCelsius,
  formatRainChance,
  formatTripDates,
  formatTripDay,
  parseItinerary,
  prettyMaybeJson,
} from "./itinerary-result";

// Built with the worker's own planner, so a change to the worker's result shows up here.
const climate: DayClimate[] = [
  { date: "2025-06-02", high: 24.4, low: 15.6, rainChance: 0.1, conditions: "mostly sunny" },
  { date: "2025-06-03", high: 12, low: 8, rainChance: 0.55, conditions: "showers" },
];
const lisbon = JSON.stringify({
  city: "Lisbon",
  country: "Portugal",
  start_date: "2025-06-02",
  days: climate.map((day, i) => planDay(day, i)),
  packing: packingList(climate),
  basis: "climatology",
  summary: "2-day trip to Lisbon from 2025-06-02: mostly sunny; showers.",
});

describe("parseItinerary", () => {
  it("reads an itinerary-worker result as a day-by-day plan", () => {
    const trip = parseItinerary(lisbon);
    expect(trip).toBeDefined();
    if (trip === undefined) return;
    expect(trip).toMatchObject({
      city: "Lisbon",
      country: "Portugal",
      startDate: "2025-06-02",
      endDate: "2025-06-03",
      climatological: true,
    });
    expect(trip.days.map((d) => d.date)).toEqual(["2025-06-02", "2025-06-03"]);
    expect(trip.days[0]?.weather).toEqual({
      high: 24.4,
      low: 15.6,
      rainChance: 0.1,
      conditions: "mostly sunny",
    });
    expect(trip.days[1]?.morning).not.toBe("");
    expect(trip.days[1]?.note).toMatch(/Rain is common/);
    expect(trip.packing).toContain("umbrella or rain jacket");
  });

  it("leaves other workers' results, broken JSON and partial plans to the JSON view", () => {
    expect(parseItinerary(JSON.stringify({ reply: "hello", city: "Lisbon" }))).toBeUndefined();
    expect(parseItinerary("[1, 2, 3]")).toBeUndefined();
    expect(parseItinerary("plain text output")).toBeUndefined();
    expect(parseItinerary('{"city": "Lisbon", "days": [')).toBeUndefined();
    const noWeather = JSON.parse(lisbon) as { days: { weather?: unknown }[] };
    delete noWeather.days[1]?.weather;
    expect(parseItinerary(JSON.stringify(noWeather))).toBeUndefined();
  });
});

describe("trip formatting", () => {
  it("shows dates, temperatures and rain chance as a traveller reads them", () => {
    expect(formatTripDay("2025-06-02")).toBe("Mon 2 Jun");
    expect(formatTripDates("2025-06-02", "2025-06-04")).toBe("2 Jun 2025 – 4 Jun 2025");
    expect(formatTripDates("2025-06-02", "2025-06-02")).toBe("2 Jun 2025");
    expect(formatCelsius(15.6)).toBe("16 °C");
    expect(formatRainChance(0.35)).toBe("35%");
  });

  it("indents JSON for the raw view and leaves other text alone", () => {
    expect(prettyMaybeJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyMaybeJson("done")).toBe("done");
    expect(prettyMaybeJson("{not json")).toBe("{not json");
  });
});
