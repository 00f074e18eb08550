import type { Metadata } from "next";
import { Suspense } from "react";
import { LoadingState } from "../../components/state-views";
import { ExecTerminal } from "./exec-terminal";
import { RunView } from "./run-view";

export const metadata: Metadata = { title: "Run" };

export default function RunPage() {
  return (
    <Suspense fallback={<LoadingState />}>
      <RunView />
      <div className="page" style={{ paddingTop: 0 }}>
        <ExecTerminal />
      </div>
    </Suspense>
  );
}
