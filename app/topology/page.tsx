import type { Metadata } from "next";
import { Suspense } from "react";
import { LoadingState } from "../../components/state-views";
import { TopologyView } from "./topology-view";

export const metadata: Metadata = { title: "Topology" };

export default function TopologyPage() {
  return (
    <Suspense fallback={<LoadingState />}>
      <TopologyView />
    </Suspense>
  );
}
