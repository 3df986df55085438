/**
 * Which kind of project file a parsed YAML document is, told by its content (a Funcraft file
 * and an edgefc template are both often named template.yml):
 * - edgefc: a top-level `edgefc:` key;
 * - Funcraft: ROS's `ROSTemplateFormatVersion`, a `Transform: Aliyun::Serverless-2018-04-03`,
 *   or a `Resources` entry of `Type: Aliyun::Serverless::…`;
 * - Serverless Devs: `edition` with `services` (edition 1.0.0, the `fc` component) or
 *   `resources` (edition 3.0.0, the `fc3` component).
 * Anything else is treated as an edgefc template, whose checks then say what is wrong.
 */
import { isYamlMap } from '../template-fields.js';

export const ProjectFormat = { edgefc: 'edgefc', serverlessDevs: 'serverless-devs', funcraft: 'funcraft' } as const;
export type ProjectFormat = (typeof ProjectFormat)[keyof typeof ProjectFormat];

export const FORMAT_TITLES: Record<ProjectFormat, string> = {
  edgefc: 'edgefc template',
  'serverless-devs': 'Serverless Devs s.yaml',
  funcraft: 'Funcraft template.yml (ROS Aliyun::Serverless)',
};

export function detectFormat(raw: unknown): ProjectFormat {
  if (!isYamlMap(raw) || 'edgefc' in raw) return ProjectFormat.edgefc;
  if ('ROSTemplateFormatVersion' in raw) return ProjectFormat.funcraft;
  if (typeof raw['Transform'] === 'string' && raw['Transform'].startsWith('Aliyun::Serverless')) return ProjectFormat.funcraft;
  const resources = raw['Resources'];
  if (isYamlMap(resources) && Object.values(resources).some((r) => isYamlMap(r) && typeof r['Type'] === 'string' && r['Type'].startsWith('Aliyun::Serverless::'))) {
    return ProjectFormat.funcraft;
  }
  if ('edition' in raw && (isYamlMap(raw['services']) || isYamlMap(raw['resources']))) return ProjectFormat.serverlessDevs;
  return ProjectFormat.edgefc;
}
