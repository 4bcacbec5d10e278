import { z } from 'zod';

/** The model this adapter drives. */
export const MODEL = 'video-style-transform';

export const SUBMIT_PATH = '/api/v1/services/aigc/video-generation/video-synthesis';
export const TASKS_PATH = '/api/v1/tasks';
export const UPLOADS_PATH = '/api/v1/uploads';

/** Body of a submit request, as documented. */
export interface SubmitBody {
  model: typeof MODEL;
  input: { video_url: string };
  parameters: { style: number; video_fps: number };
}

/** Any error reply: `{"code","message","request_id"}`. */
export const errorReply = z.looseObject({
  code: z.string().optional(),
  message: z.string().optional(),
  request_id: z.string().optional(),
});

const taskOutput = z.looseObject({
  task_id: z.string(),
  task_status: z.string(),
  output_video_url: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  submit_time: z.string().optional(),
  scheduled_time: z.string().optional(),
  end_time: z.string().optional(),
});

/** Reply of submit and of a task query. */
export const taskReply = z.looseObject({
  request_id: z.string().optional(),
  output: taskOutput,
  usage: z.looseObject({ duration: z.number().optional() }).optional(),
});
export type TaskReply = z.infer<typeof taskReply>;

/** Reply of `GET /api/v1/uploads?action=getPolicy`. */
export const policyReply = z.looseObject({
  request_id: z.string().optional(),
  data: z.looseObject({
    policy: z.string(),
    signature: z.string(),
    upload_dir: z.string(),
    upload_host: z.string(),
    oss_access_key_id: z.string(),
    x_oss_object_acl: z.string(),
    x_oss_forbid_overwrite: z.string(),
    expire_in_seconds: z.number().optional(),
    max_file_size_mb: z.number().optional(),
    capacity_limit_mb: z.number().optional(),
  }),
});
export type UploadPolicy = z.infer<typeof policyReply>['data'];

/** Reply of `GET /api/v1/tasks` (the task list). */
export const taskListReply = z.looseObject({
  request_id: z.string().optional(),
  data: z
    .array(
      z.looseObject({
        task_id: z.string(),
        status: z.string(),
        gmt_create: z.union([z.number(), z.string()]).optional(),
        model_name: z.string().optional(),
      }),
    )
    .default([]),
});

/** `YYYYMMDDhhmmss` in Beijing time (UTC+8), the task list's time filter format. */
export function beijingCompactTime(ms: number): string {
  const iso = new Date(ms + 8 * 3_600_000).toISOString();
  return iso.slice(0, 19).replace(/[-T:]/g, '');
}
