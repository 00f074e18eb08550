// Plans a day of activities to suit its typical weather: outdoors when it is pleasant, early and
// late when it is hot, indoors when it is cold or wet; and a packing list for the whole trip.

export interface DayClimate {
  date: string;
  high: number;
  low: number;
  rainChance: number;
  conditions: string;
}

export interface DayPlan {
  date: string;
  weather: DayClimate;
  morning: string;
  afternoon: string;
  evening: string;
  note: string;
}

const outdoor = [
  "a walking tour of the old town",
  "a park or botanical garden",
  "the main market, then a stroll through its neighbourhood",
  "a bike ride along the waterfront or main avenues",
  "a viewpoint or hill over the city",
  "a half-day trip to the nearby countryside or coast",
];
const indoor = [
  "the city's main museum",
  "a gallery or two in the arts district",
  "a covered market or food hall",
  "a cooking class of the local cuisine",
  "a historic church, palace or library",
  "cafés and bookshops in a lively district",
];
const evenings = [
  "dinner at a local restaurant",
  "a concert, theatre or show",
  "an evening walk and street food",
  "a rooftop or riverside bar",
];

type Weather = "hot" | "cold" | "wet" | "pleasant" | "cool";

export function classify(day: DayClimate): Weather {
  if (day.high >= 30) return "hot";
  if (day.high <= 5) return "cold";
  if (day.rainChance >= 0.45) return "wet";
  if (day.high >= 15) return "pleasant";
  return "cool";
}

const pick = (list: readonly string[], i: number) => list[i % list.length] ?? "";

export function planDay(day: DayClimate, index: number): DayPlan {
  const kind = classify(day);
  const base = { date: day.date, weather: day, evening: pick(evenings, index) };
  switch (kind) {
    case "hot":
      return {
        ...base,
        morning: `early start: ${pick(outdoor, index)} before the heat`,
        afternoon: `out of the sun: ${pick(indoor, index)}, then a long lunch and a siesta`,
        evening: `${pick(evenings, index)} once it cools down`,
        note: `Typically hot (about ${Math.round(day.high)} °C): carry water, keep outdoor plans to morning and evening.`,
      };
    case "cold":
      return {
        ...base,
        morning: pick(indoor, index),
        afternoon: `a short walk around midday, then ${pick(indoor, index + 3)}`,
        note: `Typically cold (about ${Math.round(day.low)} to ${Math.round(day.high)} °C): dress warmly; most plans are indoors.`,
      };
    case "wet":
      return {
        ...base,
        morning: pick(indoor, index),
        afternoon: `${pick(outdoor, index)} if it is dry, otherwise ${pick(indoor, index + 2)}`,
        note: `Rain is common on this date (${Math.round(day.rainChance * 100)}% of days): keep an indoor alternative.`,
      };
    case "pleasant":
      return {
        ...base,
        morning: pick(outdoor, index),
        afternoon: pick(outdoor, index + 2),
        note: "Usually pleasant: a good day to be outside.",
      };
    default:
      return {
        ...base,
        morning: pick(outdoor, index),
        afternoon: pick(indoor, index),
        note: `Usually cool (around ${Math.round(day.high)} °C by day): bring a layer.`,
      };
  }
}

export function packingList(days: readonly DayClimate[]): string[] {
  const items = ["comfortable walking shoes"];
  const lowest = Math.min(...days.map((d) => d.low));
  const highest = Math.max(...days.map((d) => d.high));
  const wettest = Math.max(...days.map((d) => d.rainChance));
  if (lowest <= 0) items.push("winter coat, hat and gloves");
  else if (lowest <= 10) items.push("a warm jacket");
  else if (lowest <= 16) items.push("a light sweater for the evenings");
  if (highest >= 25) items.push("sun hat and sunscreen", "light, breathable clothes");
  if (wettest >= 0.25) items.push("umbrella or rain jacket");
  return items;
}
