// W3C trace context read from and written into our HTTP/2 header lists ([name, value, ...]).
import type { TextMapGetter, TextMapSetter } from "@opentelemetry/api";
import type { HeaderList } from "../h2/hpack";

export const headerListGetter: TextMapGetter<HeaderList> = {
  keys(carrier) {
    return carrier.filter((_, i) => i % 2 === 0);
  },
  get(carrier, key) {
    for (let i = 0; i < carrier.length; i += 2) {
      if (carrier[i] === key) return carrier[i + 1];
    }
    return undefined;
  },
};

/** Replaces the header in place (each relayed attempt carries its own span), else appends it. */
export const headerListSetter: TextMapSetter<HeaderList> = {
  set(carrier, key, value) {
    for (let i = 0; i < carrier.length; i += 2) {
      if (carrier[i] === key) {
        carrier[i + 1] = value;
        return;
      }
    }
    carrier.push(key, value);
  },
};
