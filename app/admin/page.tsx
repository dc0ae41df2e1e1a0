/** /admin → the first admin tab. */
import { redirect } from 'next/navigation';

export default function AdminPage() {
  redirect('/admin/users');
}
