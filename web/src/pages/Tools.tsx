// Tools: the workspace's custom HTTP tools, then the built-ins with their
// parameters read from their JSON Schema; a search box narrows both by the
// API's q (part of the name or definition) as one types.
import { useEffect, useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Chip,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import { fieldErrors, problemText, type Problem } from '../problem';
import { Loading } from '../ui';
import { ParamsTable, useCanEdit, useTools } from './shared';

export function Tools() {
  const canEdit = useCanEdit();
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const tools = useTools(q);

  // Search as the user types, once they pause.
  useEffect(() => {
    const t = setTimeout(() => setQ(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);

  // The API's refusal of the search (query.q) shows beside the box.
  const qErr = tools.isError ? fieldErrors(tools.error as Problem)['query.q'] : undefined;
  const header = (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 2 }}>
      <Typography component="h1" variant="h4" sx={{ flexGrow: 1 }}>
        Tools
      </Typography>
      <TextField
        label="Search tools"
        type="search"
        size="small"
        value={text}
        onChange={(e) => setText(e.target.value)}
        inputProps={{ maxLength: 200 }}
        error={!!qErr}
        helperText={qErr ? `Search ${qErr}` : 'Part of the name, description or URL'}
        sx={{ width: 300 }}
      />
      {canEdit && (
        <Button variant="contained" component={RouterLink} to="/tools/new">
          New HTTP tool
        </Button>
      )}
    </Box>
  );
  if (tools.isError)
    return (
      <Stack spacing={3}>
        {header}
        <Alert severity="error">{problemText(tools.error as Problem)}</Alert>
      </Stack>
    );
  if (tools.isPending)
    return (
      <Stack spacing={3}>
        {header}
        <Loading label="Loading tools" />
      </Stack>
    );
  const custom = tools.data.filter((t) => !t.builtin);
  const builtins = tools.data.filter((t) => t.builtin);

  return (
    <Stack spacing={3}>
      {header}

      <Box component="section" aria-labelledby="custom-tools">
        <Typography id="custom-tools" component="h2" variant="h6" sx={{ mb: 1 }}>
          Custom HTTP tools
        </Typography>
        {custom.length === 0 ? (
          <Paper sx={{ p: 3, textAlign: 'center' }}>
            <Typography>
              {q
                ? `No custom tool’s name or definition holds “${q}”.`
                : canEdit
                  ? 'No custom tools yet: add one to let agents call an HTTP API of yours.'
                  : 'No custom tools yet: an editor of this workspace can add one to let agents call an HTTP API.'}
            </Typography>
          </Paper>
        ) : (
          <TableContainer component={Paper}>
            <Table aria-label="Custom HTTP tools">
              <TableHead>
                <TableRow>
                  <TableCell>Name</TableCell>
                  <TableCell>Description</TableCell>
                  <TableCell>Request</TableCell>
                  <TableCell>Version</TableCell>
                  <TableCell>Actions</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {custom.map((t) => (
                  <TableRow key={t.id}>
                    <TableCell sx={{ fontFamily: 'monospace' }}>{t.name}</TableCell>
                    <TableCell>{t.description}</TableCell>
                    <TableCell sx={{ wordBreak: 'break-all', maxWidth: 420 }}>
                      <Chip size="small" label={t.method} sx={{ mr: 1 }} />
                      {t.url_template}
                    </TableCell>
                    <TableCell>{t.version}</TableCell>
                    <TableCell>
                      <Button size="small" component={RouterLink} to={`/tools/${t.id}`} aria-label={`${canEdit ? 'Edit' : 'Open'} ${t.name}`}>
                        {canEdit ? 'Edit' : 'Open'}
                      </Button>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        )}
      </Box>

      <Box component="section" aria-labelledby="builtin-tools">
        <Typography id="builtin-tools" component="h2" variant="h6" sx={{ mb: 1 }}>
          Built-in tools
        </Typography>
        {builtins.length === 0 && (
          <Paper sx={{ p: 3, textAlign: 'center' }}>
            <Typography>No built-in tool’s name or description holds “{q}”.</Typography>
          </Paper>
        )}
        <Stack spacing={2}>
          {builtins.map((t) => (
            <Paper key={t.id} sx={{ p: 2 }} component="article" aria-labelledby={`tool-${t.id}`}>
              <Box sx={{ display: 'flex', alignItems: 'baseline', gap: 2 }}>
                <Typography id={`tool-${t.id}`} component="h3" variant="subtitle1" sx={{ fontFamily: 'monospace', fontWeight: 700 }}>
                  {t.name}
                </Typography>
                <Typography variant="body2" sx={{ flexGrow: 1 }}>
                  {t.description}
                </Typography>
                {canEdit && (
                  <Button size="small" component={RouterLink} to={`/tools/${t.id}`} aria-label={`Try ${t.name}`}>
                    Try it
                  </Button>
                )}
              </Box>
              <ParamsTable schema={t.parameters} label={`Parameters of ${t.name}`} />
            </Paper>
          ))}
        </Stack>
      </Box>
    </Stack>
  );
}
