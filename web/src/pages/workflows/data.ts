// The lists the workflow pages pick from, and the workflow itself, through
// TanStack Query keyed by workspace (a switch refetches them).
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useSession } from '../../App';
import { useRole } from '../../Layout';

export function useCanEdit(): boolean {
  const role = useRole();
  return role === 'editor' || role === 'admin' || role === 'owner';
}

export function useAgentList() {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['agents', workspaceId, 'all'],
    enabled: !!workspaceId,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/agents', { params: { query: { limit: 200 } } });
      if (error) throw error;
      return data.items;
    },
  });
}

// Models are for the manager and judge pickers (viewers read them too, to
// see the names).
export function useModelList(enabled: boolean) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['models', workspaceId],
    enabled: !!workspaceId && enabled,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/models', { params: { query: { limit: 100 } } });
      if (error) throw error;
      return data.items;
    },
  });
}

export function useToolList() {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['tools', workspaceId, 'all'],
    enabled: !!workspaceId,
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/tools', { params: { query: { limit: 200 } } });
      if (error) throw error;
      return data.items;
    },
  });
}

export function useWorkflow(id: string | undefined) {
  const { workspaceId } = useSession();
  return useQuery({
    queryKey: ['workflow', workspaceId, id],
    enabled: !!workspaceId && !!id && id !== 'new',
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/workflows/{id}', { params: { path: { id: id ?? '' } } });
      if (error) throw error;
      return data;
    },
  });
}
