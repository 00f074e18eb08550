"use client";
// Settings the server hands to the browser at request time (never baked into the build).
import { createContext, useContext } from "react";

export interface ConsoleSettings {
  gatewayUrl: string;
  frontDoorAddress: string;
}

export const ConsoleSettingsContext = createContext<ConsoleSettings>({
  gatewayUrl: "http://localhost:8080",
  frontDoorAddress: "127.0.0.1:50051",
});

export function useConsoleSettings(): ConsoleSettings {
  return useContext(ConsoleSettingsContext);
}
