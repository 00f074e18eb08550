// A finished job's result: an itinerary as a day-by-day plan, anything else as text or JSON.
import { useId } from "react";
import {
  formatCelsius,
  formatRainChance,
  formatTripDates,
  formatTripDay,
  type Itinerary,
  parseItinerary,
  prettyMaybeJson,
} from "../../components/itinerary-result";

export function TaskResult({ output }: { output: string }) {
  const trip = parseItinerary(output);
  if (trip === undefined) {
    return (
      <div className="field">
        <span className="field-label">Result</span>
        <pre className="code-block mono" data-testid="task-output">
          {prettyMaybeJson(output) || "(empty)"}
        </pre>
      </div>
    );
  }
  return <ItineraryResult trip={trip} output={output} />;
}

function ItineraryResult({ trip, output }: { trip: Itinerary; output: string }) {
  const id = useId();
  const place = trip.country === "" ? trip.city : `${trip.city}, ${trip.country}`;
  return (
    <section className="itinerary" aria-labelledby={`${id}-title`} data-testid="task-output">
      <header className="itinerary-header">
        <span className="field-label">Result</span>
        <h3 id={`${id}-title`} className="itinerary-title">
          {place}
        </h3>
        <p className="muted itinerary-dates">
          {formatTripDates(trip.startDate, trip.endDate)} · {trip.days.length}{" "}
          {trip.days.length === 1 ? "day" : "days"}
        </p>
        {trip.climatological && (
          <p className="faint itinerary-basis">
            Typical weather for the date, from climate normals; not a live forecast.
          </p>
        )}
      </header>
      <ol className="itinerary-days">
        {trip.days.map((day, i) => (
          <li key={day.date} className="itinerary-day" aria-labelledby={`${id}-day-${i}`}>
            <h4 id={`${id}-day-${i}`} className="itinerary-day-title">
              <span className="faint">Day {i + 1}</span> {formatTripDay(day.date)}
            </h4>
            <p className="itinerary-weather">
              <span>
                <span className="visually-hidden">High </span>
                <strong>{formatCelsius(day.weather.high)}</strong>
                <span className="muted">
                  {" / "}
                  <span className="visually-hidden">low </span>
                  {formatCelsius(day.weather.low)}
                </span>
              </span>
              <span className="muted">{formatRainChance(day.weather.rainChance)} rain</span>
              {day.weather.conditions !== "" && (
                <span className="muted">{day.weather.conditions}</span>
              )}
            </p>
            <dl className="itinerary-plan">
              {day.morning !== "" && (
                <>
                  <dt>Morning</dt>
                  <dd>{day.morning}</dd>
                </>
              )}
              {day.afternoon !== "" && (
                <>
                  <dt>Afternoon</dt>
                  <dd>{day.afternoon}</dd>
                </>
              )}
              {day.evening !== "" && (
                <>
                  <dt>Evening</dt>
                  <dd>{day.evening}</dd>
                </>
              )}
            </dl>
            {day.note !== "" && <p className="itinerary-note">{day.note}</p>}
          </li>
        ))}
      </ol>
      {trip.packing.length > 0 && (
        <div className="field">
          <h4 className="field-label">Pack</h4>
          <ul className="itinerary-packing">
            {trip.packing.map((item) => (
              <li key={item} className="chip">
                {item}
              </li>
            ))}
          </ul>
        </div>
      )}
      <details className="itinerary-raw">
        <summary>Raw JSON</summary>
        <pre className="code-block mono">{prettyMaybeJson(output)}</pre>
      </details>
    </section>
  );
}
