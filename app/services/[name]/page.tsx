import type { Metadata } from "next";
import { Suspense } from "react";
import { LoadingState } from "../../../components/state-views";
import { ServiceDetailView } from "./service-detail-view";

interface Props {
  params: Promise<{ name: string }>;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { name } = await params;
  return { title: decodeURIComponent(name) };
}

export default async function ServiceDetailPage({ params }: Props) {
  const { name } = await params;
  return (
    <Suspense fallback={<LoadingState />}>
      <ServiceDetailView name={decodeURIComponent(name)} />
    </Suspense>
  );
}
