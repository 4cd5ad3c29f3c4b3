// Export as crewAI YAML: the API's three files (agents.yaml, tasks.yaml,
// crew.yaml), each shown and offered as a download.
import { useEffect, useState } from 'react';
import { Alert, Box, Button, Dialog, DialogActions, DialogContent, DialogTitle, Stack, Typography } from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { problemText, type Problem } from '../../problem';
import { Loading } from '../../ui';
import type { Workflow } from './model';

function Download({ name, text }: { name: string; text: string }) {
  const [url, setUrl] = useState('');
  useEffect(() => {
    const u = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [text]);
  return (
    <Box component="section" aria-label={name}>
      <Box sx={{ display: 'flex', alignItems: 'center' }}>
        <Typography component="h3" variant="subtitle1" sx={{ flexGrow: 1, fontFamily: 'monospace' }}>
          {name}
        </Typography>
        <Button href={url} download={name} disabled={!url}>
          Download {name}
        </Button>
      </Box>
      <Box
        component="pre"
        tabIndex={0}
        aria-label={`${name} content`}
        sx={{ m: 0, p: 1, maxHeight: 200, overflow: 'auto', bgcolor: 'action.hover', borderRadius: 1, fontSize: 13 }}
      >
        {text}
      </Box>
    </Box>
  );
}

export function ExportDialog({ workflow, onClose }: { workflow: Workflow; onClose: () => void }) {
  const q = useQuery({
    queryKey: ['workflow-export', workflow.id, workflow.version],
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/workflows/{id}/export', {
        params: { path: { id: workflow.id }, query: { format: 'crewai' } },
      });
      if (error) throw error;
      return data;
    },
  });
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="md" aria-labelledby="export-title">
      <DialogTitle id="export-title">Export {workflow.name} as crewAI YAML</DialogTitle>
      <DialogContent>
        {q.isError && <Alert severity="error">{problemText(q.error as Problem)}</Alert>}
        {q.isPending && <Loading label="Exporting" />}
        {q.data && (
          <Stack spacing={2}>
            <Download name="agents.yaml" text={q.data.agents_yaml} />
            <Download name="tasks.yaml" text={q.data.tasks_yaml} />
            <Download name="crew.yaml" text={q.data.crew_yaml} />
          </Stack>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}
