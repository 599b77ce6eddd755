import express, { type Router } from 'express';
import { BODY_LIMIT, attachKernelSchema, parse } from './schemas';
import { invalidField } from './errors';
import { kernelLeaseEventReply } from './replies';
import type { KernelAttachService, KernelLeaseEvent } from './services';

/*
 * POST /api/kernels → 200 application/x-ndjson, one KernelLeaseEvent per line, open for as long
 * as the kernel is wanted. This is what `hpclab kernel-launch` holds: progress while the
 * allocation waits in the queue, `ready` when the kernel's channels can be opened (see
 * kernel-channels.ts), warnings before walltime, and `ended` with the reason. Closing it is
 * how a launcher says it is gone.
 */
export function kernelRoutes(router: Router, kernels: KernelAttachService): void {
  const json = express.json({ limit: BODY_LIMIT });

  router.post('/api/kernels', json, (req, res) => {
    if (req.body === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    const request = parse(attachKernelSchema, req.body, 'body');
    let open = true;
    const detach = kernels.attach(request, {
      send(event: KernelLeaseEvent) {
        if (open) res.write(`${JSON.stringify(kernelLeaseEventReply(event))}\n`);
      },
      end() {
        if (open) res.end();
        open = false;
      }
    });
    res.on('close', () => {
      open = false;
      detach();
    });
    res.status(200).type('application/x-ndjson');
    res.setHeader('Cache-Control', 'no-store');
    res.flushHeaders();
  });
}
