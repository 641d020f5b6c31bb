// The controller's end-to-end stack for a test file: a lab with NB, SB and a real ovn-northd, the embedded
// API server with the kubeovn.io CRDs, and the controller; plus the small readers the scenarios share.
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, expect } from 'vitest';
import { type ApiServer, startApiServer } from '../../../src/apiserver/server.ts';
import { type Config, DEFAULTS } from '../../../src/controller/config.ts';
import { Controller } from '../../../src/controller/controller.ts';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { run } from '../../../src/lab/proc.ts';
import { eventually, useLab } from '../helpers.ts';

const crds = join(import.meta.dirname, '../../../deploy/crds');
export const crd = (plural: string) => ({ group: 'kubeovn.io', version: 'v1', plural });

export interface ControllerStack {
  readonly api: ApiServer;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly controller: Controller;
  /**
   * Stops the controller and starts a new one on the same API server and northbound, with `flags` over
   * the defaults (e.g. enableNp: false).
   */
  restart(between?: () => Promise<void>, flags?: Partial<Config>): Promise<Controller>;
  nbctl(...args: string[]): Promise<string>;
  sbctl(...args: string[]): Promise<string>;
  getCr(
    plural: string,
    name: string,
  ): Promise<{ spec: Record<string, unknown>; status?: Record<string, unknown> }>;
  createCr(plural: string, kind: string, name: string, spec: Record<string, unknown>): Promise<void>;
  /** A JSON merge patch of a cluster-scoped kubeovn.io object. */
  patchCr(plural: string, name: string, body: Record<string, unknown>): Promise<void>;
  /** Waits until the controller has annotated the pod (routed=true) and returns its annotations. */
  annotated(name: string, namespace?: string): Promise<Record<string, string>>;
}

/** A pod scheduled to node1 with the given annotations. */
export function pod(name: string, annotations: Record<string, string> = {}, namespace = 'default'): V1Pod {
  return {
    metadata: { name, namespace, annotations },
    spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'pause' }] },
  };
}

/**
 * @param namespaces created before the controller starts
 * @param manifests more manifests for the API server (e.g. KubeVirt's CRDs)
 */
export function useControllerStack(namespaces: string[] = [], manifests: string[] = []): ControllerStack {
  const ctx = useLab({ northd: true });
  let api: ApiServer | undefined;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let controller: Controller | undefined;
  const start = (flags: Partial<Config> = {}) =>
    Controller.start({ kc, config: { ...DEFAULTS, ...flags, nbRemotes: ctx.lab.central.nb.unixRemotes } });

  beforeAll(async () => {
    api = await startApiServer({ port: 0, manifests: [crds, ...manifests] });
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    for (const name of namespaces) await core.createNamespace({ body: { metadata: { name } } });
    controller = await start();
  });
  afterAll(async () => {
    await controller?.stop();
    await api?.close();
  });

  const stack: ControllerStack = {
    get api() {
      return api!;
    },
    get core() {
      return core;
    },
    get custom() {
      return custom;
    },
    get controller() {
      return controller!;
    },
    async restart(between, flags) {
      await controller?.stop();
      controller = undefined;
      await between?.();
      controller = await start(flags);
      return controller;
    },
    nbctl: (...a) => ctx.lab.nbctl(...a),
    sbctl: (...a) => run('ovn-sbctl', a, { env: ctx.lab.env }),
    getCr: async (plural, name) =>
      (await custom.getClusterCustomObject({ ...crd(plural), name })) as {
        spec: Record<string, unknown>;
        status?: Record<string, unknown>;
      },
    async createCr(plural, kind, name, spec) {
      await custom.createClusterCustomObject({
        ...crd(plural),
        body: { apiVersion: 'kubeovn.io/v1', kind, metadata: { name }, spec },
      });
    },
    async patchCr(plural, name, body) {
      await custom.patchClusterCustomObject(
        { ...crd(plural), name, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async annotated(name, namespace = 'default') {
      let p: V1Pod | undefined;
      await eventually(async () => {
        p = await core.readNamespacedPod({ name, namespace });
        expect(p.metadata?.annotations?.[Ann.routed]).toBe('true');
      });
      return p!.metadata!.annotations!;
    },
  };
  return stack;
}
